"""Inference engines: the interface (``base``), the engines (ONNX Runtime, torch, TensorRT) and the factory above them."""
