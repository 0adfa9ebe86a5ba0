
Boutput_0Jµ¹