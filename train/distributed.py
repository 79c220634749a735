"""Where a run executes: the device, the process group under torchrun (gloo on CPU, NCCL on
GPU), decisions all processes take together, and the hardware line of the model card."""
from __future__ import annotations

import os
import platform
from dataclasses import dataclass
from pathlib import Path

import torch
import torch.distributed as dist


class DeviceError(RuntimeError):
    pass


@dataclass(frozen=True)
class Placement:
    device: torch.device
    rank: int = 0
    world_size: int = 1

    @property
    def distributed(self) -> bool:
        return self.world_size > 1

    @property
    def is_main(self) -> bool:
        return self.rank == 0


def resolve_device(name: str, local_rank: int = 0) -> torch.device:
    if name == "auto":
        name = "cuda" if torch.cuda.is_available() else "cpu"
    if name == "cuda":
        if not torch.cuda.is_available():
            raise DeviceError("--device cuda was asked for, but no CUDA GPU is available; use --device cpu")
        return torch.device("cuda", local_rank)
    if name != "cpu":
        raise DeviceError(f"unknown device {name!r}: use auto, cpu or cuda")
    return torch.device("cpu")


def set_up(device_name: str) -> Placement:
    """The device of this process; under torchrun (WORLD_SIZE > 1) also joins the process group."""
    local_rank = int(os.environ.get("LOCAL_RANK", "0"))
    device = resolve_device(device_name, local_rank)
    if int(os.environ.get("WORLD_SIZE", "1")) <= 1:
        return Placement(device)
    if not dist.is_initialized():
        if device.type == "cuda":
            torch.cuda.set_device(device)
        dist.init_process_group("nccl" if device.type == "cuda" else "gloo")
    return Placement(device, dist.get_rank(), dist.get_world_size())


def ranks_where(flag: bool, placement: Placement) -> list[int]:
    """The ranks on which `flag` is true, known to every process (one all-reduce): what lets all
    processes take the same decision, e.g. roll back together when one of them saw a NaN."""
    if not placement.distributed:
        return [0] if flag else []
    flags = torch.zeros(placement.world_size, dtype=torch.int32, device=placement.device)
    flags[placement.rank] = int(flag)
    dist.all_reduce(flags)
    return [rank for rank, value in enumerate(flags.tolist()) if value]


def barrier(placement: Placement) -> None:
    if placement.distributed:
        dist.barrier()


def hardware_description(device: torch.device, world_size: int) -> str:
    if device.type == "cuda":
        what = torch.cuda.get_device_name(device)
    else:
        what = platform.processor() or platform.machine()
        try:
            for line in Path("/proc/cpuinfo").read_text().splitlines():
                if line.startswith("model name"):
                    what = line.split(":", 1)[1].strip()
                    break
        except OSError:
            pass
        what = f"{what}, {torch.get_num_threads()} threads"
    return f"{world_size} x {what}" if world_size > 1 else what
