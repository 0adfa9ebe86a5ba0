Boutput_0Jô;s¿
3@