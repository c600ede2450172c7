"""The public hand datasets in their published layouts (RHD, STB, FreiHAND) as HandSamples, and what
their loaders share."""
