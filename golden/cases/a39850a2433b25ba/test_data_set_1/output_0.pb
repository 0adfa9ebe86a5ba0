Boutput_0J é1ÑXÑÀ´¾vşÙí¿z ~j@^¼
EYü¿