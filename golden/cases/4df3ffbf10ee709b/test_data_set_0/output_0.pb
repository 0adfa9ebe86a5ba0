
Boutput_0JĞEÌÄ