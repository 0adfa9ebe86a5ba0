
Boutput_0J÷Fj³