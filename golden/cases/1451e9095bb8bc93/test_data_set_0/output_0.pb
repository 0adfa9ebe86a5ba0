Boutput_0Jó
¼