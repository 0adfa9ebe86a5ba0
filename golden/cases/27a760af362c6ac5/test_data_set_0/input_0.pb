
Binput_0Jj¬T=µ£F