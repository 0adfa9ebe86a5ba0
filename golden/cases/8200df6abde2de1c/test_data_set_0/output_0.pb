
Boutput_0Jĺ