
Boutput_0Jj¬