"""Development tools around qopt: the ONNX Runtime reference runner, model
generators and comparison helpers used by tests and benchmarks."""
