
Boutput_0Jĺĺĺĺ