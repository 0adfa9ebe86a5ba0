
Boutput_0J8Ø<