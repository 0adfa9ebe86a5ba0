
Boutput_0J¾@"E