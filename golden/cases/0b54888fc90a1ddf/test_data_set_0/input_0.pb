
Binput_0JEú¼