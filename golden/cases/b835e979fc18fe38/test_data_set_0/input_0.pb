
Binput_0Jk¼å;