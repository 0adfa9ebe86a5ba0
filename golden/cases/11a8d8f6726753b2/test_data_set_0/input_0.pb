
Binput_0J¼ÃIF