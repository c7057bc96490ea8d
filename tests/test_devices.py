"""course_utils.device(): CUDA, then Apple's MPS, then the CPU."""

import pytest
import torch

import course_utils


def test_cpu_when_there_is_no_accelerator(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr(torch.backends.mps, "is_available", lambda: False)
    assert course_utils.device() == torch.device("cpu")


def test_cuda_first(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.backends.mps, "is_available", lambda: True)
    assert course_utils.device() == torch.device("cuda")


def test_mps_when_there_is_no_cuda(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr(torch.backends.mps, "is_available", lambda: True)
    assert course_utils.device() == torch.device("mps")


def test_this_machine():
    expected = "cuda" if torch.cuda.is_available() else "mps" if torch.backends.mps.is_available() else "cpu"
    device = course_utils.device()
    assert device.type == expected
    assert torch.zeros(1, device=device).device.type == expected


@pytest.mark.cuda
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU (torch.cuda.is_available() is False)")
def test_cuda_is_picked_when_present():
    assert course_utils.device().type == "cuda"
