
Binput_1J<¼