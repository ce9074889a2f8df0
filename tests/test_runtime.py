"""Seeding, device selection, the environment report and the quick/full budget switch."""

import pytest
import torch

import ppo_edu as pe


def test_seed_gives_same_numbers():
    pe.seed_everything(123)
    a = (torch.randn(4), __import__("numpy").random.rand(2), __import__("random").random())
    pe.seed_everything(123)
    b = (torch.randn(4), __import__("numpy").random.rand(2), __import__("random").random())
    assert torch.equal(a[0], b[0]) and (a[1] == b[1]).all() and a[2] == b[2]


@pytest.mark.parametrize("bad", [-1, 1.5, "7", None, True])
def test_bad_seed(bad):
    with pytest.raises(ValueError, match="seed: expected a non-negative integer"):
        pe.seed_everything(bad)


def test_auto_device_and_cpu():
    expected = "cuda" if torch.cuda.is_available() else "cpu"
    assert pe.get_device("auto").type == expected
    assert pe.get_device(None).type == expected
    assert pe.get_device("cpu") == torch.device("cpu")


@pytest.mark.parametrize("bad", ["tpu", "gpu", "cuda:x", 3.5])
def test_unknown_device_is_an_error(bad):
    with pytest.raises(ValueError, match="device: expected 'auto', 'cpu', 'cuda'"):
        pe.get_device(bad)


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has a GPU")
def test_cuda_without_gpu_is_a_clear_error():
    with pytest.raises(ValueError, match="no CUDA GPU"):
        pe.get_device("cuda")


def test_environment_report_lists_versions():
    rep = pe.runtime.environment_report()
    assert rep["torch"] == torch.__version__
    assert rep["device"] in {"cpu", "cuda"}
    for key in ("python", "gymnasium", "numpy", "ppo_edu"):
        assert rep[key] and rep[key] != "not installed"


def test_budget_follows_quick_mode(monkeypatch):
    monkeypatch.setenv("PPO_EDU_QUICK", "1")
    assert pe.runtime.quick_mode() and pe.runtime.budget(1000, 10) == 10
    monkeypatch.setenv("PPO_EDU_QUICK", "0")
    assert not pe.runtime.quick_mode() and pe.runtime.budget(1000, 10) == 1000


def test_unknown_submodule_is_attribute_error():
    with pytest.raises(AttributeError, match="no attribute or submodule 'nope'"):
        pe.nope  # noqa: B018
