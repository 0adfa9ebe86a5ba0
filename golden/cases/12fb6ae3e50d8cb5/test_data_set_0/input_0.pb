
Binput_0Jy<6 éÆ