
Binput_1J½s¾lÀ