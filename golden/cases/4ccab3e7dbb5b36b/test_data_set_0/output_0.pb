
Boutput_0J3Aÿ³?¬