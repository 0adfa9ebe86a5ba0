
Boutput_0J6=׺