import statistics

import numba as nb
import numpy as np
import pytest

from cift.data.rand import exponential, geometric, normal, stream_key, uniform, uniform_pair


@nb.njit
def _draws(key, n):
    out = np.empty((n, 4))
    for i in range(n):
        out[i, 0] = uniform(key, i)
        out[i, 1], out[i, 2] = uniform_pair(key, i)
        out[i, 3] = normal(key, i)
    return out


def test_draws_are_deterministic_and_look_uniform_and_normal():
    key = stream_key(7, 1)
    a, b = _draws(key, 200_000), _draws(key, 200_000)
    assert np.array_equal(a, b)
    assert not np.array_equal(a, _draws(stream_key(7, 2), 200_000))
    for col in range(3):
        u = a[:, col]
        assert 0.0 < u.min() and u.max() < 1.0
        assert abs(u.mean() - 0.5) < 0.003 and abs(u.var() - 1 / 12) < 0.001
        assert np.histogram(u, bins=20, range=(0, 1))[0].min() > 9_500  # 10k expected
    assert abs(np.corrcoef(a[:, 1], a[:, 2])[0, 1]) < 0.01  # the pair's halves independent
    z = a[:, 3]
    assert abs(z.mean()) < 0.01 and abs(z.std() - 1.0) < 0.01
    assert abs((np.abs(z) > 1.96).mean() - 0.05) < 0.003


@nb.njit
def _geometric(key, n, bits):
    return np.array([geometric(key, i, bits) for i in range(n)], np.int64)


@pytest.mark.parametrize("bits", [1, 2, 3])
def test_geometric_counts_have_the_geometric_law(bits):
    p = 2.0 ** -bits
    k = _geometric(stream_key(3, bits), 400_000, bits)
    cap = 64 // bits - 1
    assert k.min() == 0 and k.max() <= cap
    for j in range(6):  # P(K = j) = p (1 - p)^j
        assert abs((k == j).mean() - p * (1 - p) ** j) < 0.004
    capped_mean = (1 - p) / p * (1 - (1 - p) ** cap)  # E[min(K, cap)]
    assert abs(k.mean() - capped_mean) < 0.02 * capped_mean


@nb.njit
def _normals_and_exponentials(key, n):
    out = np.empty((n, 2))
    for i in range(n):
        out[i, 0] = normal(key, i)
        out[i, 1] = exponential(key, i)
    return out


def test_ziggurat_draws_follow_the_normal_and_exponential_laws():
    n = 1_000_000
    draws = _normals_and_exponentials(stream_key(11, 4), n)
    assert np.array_equal(draws, _normals_and_exponentials(stream_key(11, 4), n))
    z, e = draws[:, 0], draws[:, 1]
    phi = statistics.NormalDist().cdf
    # bins of the exact laws, the tails (beyond the ziggurat's r) and wedges included
    edges = np.array([-np.inf, -4.0, -3.6541, -3.0, -2.0, -1.0, -0.5, 0.0, 0.3, 1.0, 2.5,
                      3.6541, 4.0, np.inf])
    expect_z = n * np.diff([phi(x) if np.isfinite(x) else float(x > 0) for x in edges])
    edges_e = np.array([0.0, 0.1, 0.5, 1.0, 2.0, 4.0, 7.6971, 9.0, np.inf])
    expect_e = n * -np.diff(np.exp(-edges_e))
    for sample, edge, expect in ((z, edges, expect_z), (e, edges_e, expect_e)):
        got = np.histogram(sample, bins=edge)[0]
        assert np.all(np.abs(got - expect) < 5 * np.sqrt(expect) + 3), (got, expect)
    assert (e > 0).all() and np.isfinite(z).all()
    assert abs(z.mean()) < 0.005 and abs(z.std() - 1) < 0.005
    assert abs(e.mean() - 1) < 0.005 and abs(e.std() - 1) < 0.01
