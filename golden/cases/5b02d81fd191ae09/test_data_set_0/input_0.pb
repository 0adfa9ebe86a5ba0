
Binput_0J/µEÔÆÃA