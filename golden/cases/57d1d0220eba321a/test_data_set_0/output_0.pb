
Boutput_0J¼E(Ì