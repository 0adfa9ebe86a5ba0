
Binput_2J3Aÿ³?¬