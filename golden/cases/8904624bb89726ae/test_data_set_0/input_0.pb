
Binput_0JÍÀf<Df¼