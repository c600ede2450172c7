"""Real photos: the licensed sets and their splits, and MediaPipe as the teacher that labels them."""
