
Boutput_0J×IE