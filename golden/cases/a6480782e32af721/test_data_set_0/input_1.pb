
Binput_1J¦A