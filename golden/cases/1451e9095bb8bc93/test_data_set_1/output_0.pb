Boutput_0Jó
¼!Nà?