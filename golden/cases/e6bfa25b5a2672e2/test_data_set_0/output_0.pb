
Boutput_0J¹9