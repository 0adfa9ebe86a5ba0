
Binput_0J$ÆE