"""Result files of recorded-video processing: JSON Lines, CSV and COCO-WholeBody-style JSON."""
