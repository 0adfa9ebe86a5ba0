
Binput_1Jœ¿¶º