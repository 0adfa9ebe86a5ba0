
Binput_0JmA8ŒÇA`>€<_=v=