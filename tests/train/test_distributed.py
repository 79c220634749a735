"""train.distributed: device choice and the single-process case of the shared decisions (the
two-process case is tests/test_train.py's torchrun tests)."""
import pytest
import torch

from train.distributed import DeviceError, Placement, hardware_description, ranks_where, resolve_device, set_up


def test_single_process_placement_and_decisions(monkeypatch):
    monkeypatch.delenv("WORLD_SIZE", raising=False)
    placement = set_up("cpu")
    assert placement == Placement(torch.device("cpu")) and not placement.distributed and placement.is_main
    assert ranks_where(True, placement) == [0] and ranks_where(False, placement) == []
    assert "threads" in hardware_description(placement.device, 1)
    assert hardware_description(placement.device, 2).startswith("2 x ")


def test_device_names():
    assert resolve_device("cpu") == torch.device("cpu")
    with pytest.raises(DeviceError, match="unknown device 'tpu'"):
        resolve_device("tpu")
    if not torch.cuda.is_available():
        with pytest.raises(DeviceError, match="no CUDA GPU"):
            resolve_device("cuda")
