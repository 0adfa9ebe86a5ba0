
Binput_0Jf¹ñ¸