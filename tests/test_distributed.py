"""The distributed layer: a real Dask LocalCluster gives the in-process result."""

import os
import signal
import threading
import time

import numpy as np
import pytest

import archbound
from archbound import distributed

distributed_pkg = pytest.importorskip("distributed")


@pytest.fixture(scope="module")
def client():
    from distributed import Client, LocalCluster

    cluster = LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0", silence_logs=50
    )
    client = Client(cluster)
    yield client
    client.close()
    cluster.close()


@pytest.fixture(scope="module")
def problem():
    rng = np.random.default_rng(7)
    X = rng.random((40, 60))
    labels = rng.integers(0, 4, 40)
    Xt = rng.random((2500, 60))
    labels_t = rng.integers(0, 4, 2500)
    Y, Yt = archbound.one_hot(labels, 4), archbound.one_hot(labels_t, 4)
    net = archbound.construct_minimizer(X, Y, [40, 50], method="readout_last", seed=0)
    expected = archbound.sample_bounds(net, X, Y, Xt, Yt, seed=3)
    return net, X, Y, Xt, Yt, expected


def _assert_same(report, expected):
    for name in ("test_cost", "test_cost_bound", "mean_ratio", "ratio", "train_cost"):
        assert getattr(report, name) == pytest.approx(getattr(expected, name), rel=1e-12)
    # The bounds, their maximum and the indices are exact. The true errors come from forward
    # passes over differently sized batches, whose BLAS blocking can differ in the last bit.
    assert report.uniform_bound == expected.uniform_bound
    assert report.max_error == pytest.approx(expected.max_error, rel=1e-14)
    assert report.accuracy == expected.accuracy
    assert report.argmax_test_index == expected.argmax_test_index
    assert report.lipschitz == expected.lipschitz
    np.testing.assert_array_equal(report.nearest_index, expected.nearest_index)
    np.testing.assert_allclose(report.per_sample, expected.per_sample, rtol=1e-12)
    assert np.all(report.per_sample >= report.errors)


def test_in_process_chunks_equal_one_call(problem):
    net, X, Y, Xt, Yt, expected = problem
    report = distributed.sample_bounds_dask(net, X, Y, Xt, Yt, chunk_rows=333, seed=3)
    _assert_same(report, expected)


def test_local_cluster_equals_in_process(client, problem):
    net, X, Y, Xt, Yt, expected = problem
    report = distributed.sample_bounds_dask(
        net, X, Y, Xt, Yt, client=client, chunk_rows=700, seed=3
    )
    _assert_same(report, expected)


def test_memmap_path_with_several_chunks(client, problem, tmp_path):
    net, X, Y, Xt, Yt, expected = problem
    np.save(tmp_path / "Xt.npy", Xt)
    np.save(tmp_path / "Yt.npy", Yt)
    report = distributed.sample_bounds_dask(
        net,
        X,
        Y,
        str(tmp_path / "Xt.npy"),
        str(tmp_path / "Yt.npy"),
        client=client,
        chunk_rows=600,
        seed=3,
        per_sample_out=tmp_path / "out",
    )
    _assert_same(report, expected)
    np.testing.assert_allclose(
        np.load(tmp_path / "out" / "per_sample.npy"), expected.per_sample, rtol=1e-12
    )
    # A memmap opened by the caller works too.
    memmap = np.load(tmp_path / "Xt.npy", mmap_mode="r")
    _assert_same(
        distributed.sample_bounds_dask(
            net, X, Y, memmap, Yt, client=client, chunk_rows=1000, seed=3
        ),
        expected,
    )


@pytest.mark.parametrize("variant", ["coordinates", "best"])
def test_readout_first_variants_on_the_cluster(client, problem, tmp_path, variant):
    _, X, Y, Xt, Yt, _ = problem
    net = archbound.construct_minimizer(X, Y, [8, 8])
    expected = archbound.sample_bounds(net, X, Y, Xt, Yt, variant=variant, seed=3)
    report = distributed.sample_bounds_dask(
        net,
        X,
        Y,
        Xt,
        Yt,
        client=client,
        chunk_rows=700,
        variant=variant,
        seed=3,
        per_sample_out=tmp_path / variant,
    )
    _assert_same(report, expected)
    assert report.variant == variant and report.components == expected.components
    if variant == "best":
        assert report.components == archbound.bounds.GEOMETRIC_VARIANTS
        np.testing.assert_array_equal(report.attained_by, expected.attained_by)
        np.testing.assert_array_equal(
            np.load(tmp_path / variant / "attained_by.npy"), expected.attained_by
        )
        assert report.attained_counts() == expected.attained_counts()
    local = distributed.sample_bounds_dask(
        net, X, Y, Xt, Yt, chunk_rows=1000, variant=variant, seed=3
    )
    _assert_same(local, expected)


def test_dask_array_input(client, problem):
    import dask.array as da

    net, X, Y, Xt, Yt, expected = problem
    report = distributed.sample_bounds_dask(
        net,
        X,
        Y,
        da.from_array(Xt, chunks=(512, 60)),
        da.from_array(Yt, chunks=(512, 4)),
        client=client,
        chunk_rows=900,
        seed=3,
    )
    _assert_same(report, expected)


def test_worker_loss_still_gives_the_exact_result(client, problem):
    net, X, Y, Xt, Yt, _ = problem
    big_t = np.tile(Xt, (4, 1))
    big_y = np.tile(Yt, (4, 1))
    reference = archbound.sample_bounds(net, X, Y, big_t, big_y, seed=3)
    pids = list(client.run(os.getpid).values())
    result = {}

    def run():
        try:
            result["report"] = distributed.sample_bounds_dask(
                net, X, Y, big_t, big_y, client=client, chunk_rows=100, seed=3
            )
        except distributed.MissingChunksError as exc:  # acceptable: a clear error
            result["error"] = exc
        except Exception as exc:  # noqa: BLE001  (anything else is a defect, reported below)
            result["unexpected"] = exc

    thread = threading.Thread(target=run)
    thread.start()
    time.sleep(0.5)
    os.kill(pids[0], signal.SIGKILL)
    thread.join(timeout=120)
    assert not thread.is_alive()
    assert "unexpected" not in result, repr(result.get("unexpected"))
    if "report" in result:
        _assert_same(result["report"], reference)
    else:
        assert result["error"].chunks
    client.wait_for_workers(2, timeout=60)


def test_missing_chunk_is_detected(problem):
    net, X, Y, Xt, Yt, _ = problem
    context = archbound.bounds.prepare_bounds(net, X, Y, seed=3)
    chunks = [(0, 0, 100), (1, 100, 200)]
    partial = distributed._evaluate_chunk(context, Xt[:100], Yt[:100], 0, 0, None, None)
    with pytest.raises(distributed.MissingChunksError, match="missing") as info:
        distributed._reduce(context, [partial], chunks, 200, None, 0.0)
    assert info.value.chunks == [1]


def test_bad_input(problem):
    net, X, Y, Xt, Yt, _ = problem
    with pytest.raises(ValueError, match="chunk_rows"):
        distributed.sample_bounds_dask(net, X, Y, Xt, Yt, chunk_rows=0)
    with pytest.raises(ValueError, match="same number of rows"):
        distributed.sample_bounds_dask(net, X, Y, Xt, Yt[:10])
    with pytest.raises(ValueError, match="empty"):
        distributed.sample_bounds_dask(net, X, Y, Xt[:0], Yt[:0])


def test_client_for_local_cluster_equals_in_process_and_closes(problem):
    net, X, Y, Xt, Yt, expected = problem
    with distributed.client_for("local", workers=1) as client:
        assert len(client.scheduler_info()["workers"]) == 1
        report = distributed.sample_bounds_dask(
            net, X, Y, Xt, Yt, client=client, chunk_rows=900, seed=3
        )
    _assert_same(report, expected)
    assert client.status == "closed"


def test_client_for_refuses_workers_with_an_address():
    with (
        pytest.raises(ValueError, match="workers applies to a local cluster only"),
        distributed.client_for("tcp://127.0.0.1:9", workers=2),
    ):
        pass


def test_the_older_name_is_the_same_function():
    assert distributed.sample_bounds is distributed.sample_bounds_dask


def test_a_training_set_on_the_chunked_path(problem):
    """A TrainingSet prepares the bounds once; the chunks give the in-process report."""
    net, X, Y, Xt, Yt, _ = problem
    train = archbound.TrainingSet(X, Y, network=net, seed=3, threads=1)
    reference = archbound.sample_bounds(net, train, None, Xt, Yt, variant="best")
    report = distributed.sample_bounds_dask(
        net, train, None, Xt, Yt, chunk_rows=70, variant="best"
    )
    _assert_same(report, reference)
    with pytest.raises(ValueError, match="leave delta out"):
        distributed.sample_bounds_dask(net, train, None, Xt, Yt, delta=0.1)
