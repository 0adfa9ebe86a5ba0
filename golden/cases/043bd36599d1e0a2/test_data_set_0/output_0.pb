
Boutput_0J÷FÎ.