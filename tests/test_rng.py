from sim.rng import stream


def test_a_stream_is_fixed_by_seed_replication_and_name():
    a = stream(7, 0, "arrivals:north").random(5)
    b = stream(7, 0, "arrivals:north").random(5)
    assert (a == b).all()


def test_streams_differ_by_name_seed_and_replication():
    base = stream(7, 0, "arrivals:north").random(5)
    assert not (base == stream(7, 0, "arrivals:south").random(5)).any()
    assert not (base == stream(8, 0, "arrivals:north").random(5)).any()
    assert not (base == stream(7, 1, "arrivals:north").random(5)).any()


def test_creating_other_streams_does_not_shift_a_stream():
    alone = stream(3, 2, "patients:z").random(3)
    stream(3, 2, "something-new").random(100)
    assert (alone == stream(3, 2, "patients:z").random(3)).all()
