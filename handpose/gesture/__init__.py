"""Hand gestures from 3D poses: the vocabulary and its rules, the pose features, labelled pose
samples, the classifier and its training."""
