
Binput_0J¼Ê¸