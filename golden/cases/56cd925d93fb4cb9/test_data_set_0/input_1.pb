
Binput_1Jh>h>