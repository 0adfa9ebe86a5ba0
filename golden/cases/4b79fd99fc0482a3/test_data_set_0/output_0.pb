
Boutput_0J«œ³¶