"""The live demo's engine: a source, a pipeline, switches and FPS (the windows are in ``handpose.viz``)."""
