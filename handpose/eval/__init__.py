"""Evaluation against ground truth: the sample clip (dataset evaluation and metrics are in ``handpose.train``)."""
