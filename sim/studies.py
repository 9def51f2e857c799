"""Studies that answer the seed documents' questions from structure alone.

``ccn_structure``: the County Councils Network figures (seed 000, section 8.3): for
the ICBs that work with England's county councils, how many councils each works with
today and after every county is split into unitaries of about 500,000.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from sim.build import BuildSpec, build_config
from sim.config import Config, config_from_dict
from sim.geography import PARTNER_MIN_SHARE, Geography
from sim.metrics import write_tables
from sim.transforms import _district, split_counties

SEED = {
    "icbs": 22,
    "authorities_today": 37,
    "per_icb_today": 2.73,
    "authorities_after": 46,
    "per_icb_after": 3.14,
    "icbs_with_one_more": 9,
}


def county_councils(cfg: Config) -> set[str]:
    """Councils covering two or more districts: the two-tier counties."""
    fp = cfg.footprints["local_authority"]
    return {o for o in set(fp.values()) if len({_district(z) for z, a in fp.items() if a == o}) > 1}


def ccn_structure(target_population: float = 500_000) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """The seed's figures beside this model's, the councils of each ICB that works with a
    county council, and the councils and ICBs of each police force that does."""
    today_data = build_config(BuildSpec(name="england", icbs="all", police=True))
    after_data = split_counties(today_data, target_population)
    today, after = config_from_dict(today_data), config_from_dict(after_data)
    counties = county_councils(today)
    g0, g1 = Geography(today), Geography(after)
    icbs = [i for i in today.orgs_of_type("icb") if set(g0.partners(i, "local_authority")) & counties]
    rows = []
    for icb in icbs:
        before = g0.partners(icb, "local_authority")
        later = g1.partners(icb, "local_authority")
        rows.append(
            {
                "icb": icb,
                "icb_name": today.organisations[icb].name,
                "authorities_today": len(before),
                "authorities_after": len(later),
                "counties": ", ".join(sorted(set(before) & counties)),
                "today": ", ".join(before),
                "after": ", ".join(later),
            }
        )
    per_icb = pd.DataFrame(rows)
    all_today = set().union(*(g0.partners(i, "local_authority") for i in icbs))
    all_after = set().union(*(g1.partners(i, "local_authority") for i in icbs))
    ours = {
        "icbs": len(icbs),
        "authorities_today": len(all_today),
        "per_icb_today": per_icb["authorities_today"].mean(),
        "authorities_after": len(all_after),
        "per_icb_after": per_icb["authorities_after"].mean(),
        "icbs_with_one_more": int((per_icb["authorities_after"] > per_icb["authorities_today"]).sum()),
    }
    labels = {
        "icbs": "ICBs working with a county council",
        "authorities_today": "councils those ICBs work with, today",
        "per_icb_today": "councils per ICB, today",
        "authorities_after": "councils after counties become unitaries of about 500,000",
        "per_icb_after": "councils per ICB, after",
        "icbs_with_one_more": "ICBs working with more councils after",
    }
    comparison = pd.DataFrame(
        [{"measure": labels[k], "seed": SEED[k], "this_model": round(float(v), 2)} for k, v in ours.items()]
    )
    forces = [f for f in today.orgs_of_type("police") if set(g0.partners(f, "local_authority")) & counties]
    per_force = pd.DataFrame(
        [
            {
                "police": f,
                "police_name": today.organisations[f].name,
                "councils_today": len(g0.partners(f, "local_authority")),
                "councils_after": len(g1.partners(f, "local_authority")),
                "icbs": len(g0.partners(f, "icb")),
                "counties": ", ".join(sorted(set(g0.partners(f, "local_authority")) & counties)),
                "icb_names": ", ".join(today.organisations[i].name for i in g0.partners(f, "icb")),
            }
            for f in forces
        ]
    )
    return comparison, per_icb, per_force


def write_ccn_findings(out_dir: str | Path, target_population: float = 500_000) -> Path:
    out = Path(out_dir)
    comparison, per_icb, per_force = ccn_structure(target_population)
    write_tables(out, {"comparison": comparison, "authorities_per_icb": per_icb, "police_forces": per_force})
    table = "\n".join(f"| {r.measure} | {r.seed:g} | {r.this_model:g} |" for r in comparison.itertuples())
    growth = per_icb[per_icb["authorities_after"] > per_icb["authorities_today"]]
    listing = "\n".join(
        f"- {r.icb_name}: {r.authorities_today} to {r.authorities_after} ({r.counties} split)"
        for r in growth.itertuples()
    )
    more = per_force[per_force["councils_after"] > per_force["councils_today"]]
    forces = "\n".join(f"- {r.police_name}: {r.councils_today} to {r.councils_after}" for r in more.itertuples())
    several = per_force[per_force["icbs"] > 1]
    today, after = per_force["councils_today"], per_force["councils_after"]
    text = f"""# Councils per ICB before and after county reorganisation (CCN figures)

Seed `000` (County Councils Network / Newton, section 8.3) reports that 22 ICBs work
with 37 county and unitary councils, 2.73 each, and that splitting every county into
unitaries of about 500,000 would give 46 councils, 3.14 per ICB, with 9 of the 22 ICBs
working with one more council.  `handover build configs/build/england.yaml` builds
England's 2023 geography, and the `split_counties` transform splits each of the 21
two-tier counties into round(population / {target_population:,.0f}) unitaries (districts
grouped by their hospitals' catchments, as no adjacency data is available).  A council
counts as an ICB's partner when it serves at least {PARTNER_MIN_SHARE:.0%} of the ICB's
residents.  Reproduce with `handover study ccn`.

| measure | seed | this model |
|---|---|---|
{table}

## Why the figures differ

- **Which councils count.** The seed counts "county and unitary authorities" in its
  county areas (37); we count every council an ICB works with, including metropolitan
  boroughs and unitaries outside the county areas, so our totals are higher while the
  per-ICB averages are close.
- **Merging with neighbouring unitaries.** The seed's reorganisation also merges
  counties with neighbouring unitaries "where applicable", which removes councils; ours
  only splits counties, so it adds more councils (and more per ICB) than the seed's.
- **Geography.** We use the 2023 councils (Cumbria, North Yorkshire and Somerset
  already reorganised) and the 2022 ICB boundaries, so 21 ICBs work with a two-tier
  county, not 22; small fragments (under 1% of an ICB's residents) are not partners.

## ICBs that would work with more councils

{listing}

## Police forces

The seed also warns of police, health and social care covering different footprints.
Every council must set up a Safeguarding Adults Board whose members are the council,
the ICBs and the chief officers of police for its area (Care Act 2014, section 43), so
each council a force works with is a board it sits on, unless councils set up one
together.  Police areas are whole councils (Police Act 1996), from
`sim/data/england/police_area23.csv`.

| measure | today | after |
|---|---|---|
| police forces working with a county council | {len(per_force)} | {len(per_force)} |
| councils those forces work with (boards they sit on) | {today.sum()} | {after.sum()} |
| councils per force | {today.mean():.2f} | {after.mean():.2f} |
| forces working with more councils after | | {len(more)} |
| forces working with two ICBs or more (2022 ICBs) | {len(several)} | {len(several)} |

{forces}
"""
    (out / "findings.md").write_text(text, encoding="utf-8")
    return out / "findings.md"
