
Binput_1JLÁ